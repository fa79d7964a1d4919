"""Synthetic records of people and addresses: house sales (vastgoed), drug offences,
cannabis sites and convictions (drugs), and suspicious transaction reports (transacties).

Rates are rough national orders of magnitude (about 25 house sales per 1,000
households a year, 7 suspicious transaction reports per 1,000 inhabitants, 0.15
dismantled cannabis sites per 1,000 inhabitants); the context's ``scale`` multiplies
them all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zicht.engine.sources.generators.context import (
    Context,
    SyntheticData,
    numbered_ids,
    pool_draw,
)

REPORTERS = np.array(
    [
        "Bank A",
        "Bank B",
        "Bank C",
        "Betaaldienstverlener",
        "Geldtransactiekantoor",
        "Notaris",
        "Autohandelaar",
        "Casino",
        "Overige",
    ]
)
REPORTER_SHARE = np.array([0.38, 0.22, 0.10, 0.12, 0.07, 0.03, 0.03, 0.02, 0.03])


def kadaster_sales(ctx: Context) -> SyntheticData:
    """Dwelling sales in 2024 (vastgoed): buyer type, price against WOZ, quick resales."""
    rng = ctx.rng("kadaster")
    risk, planted = ctx.risk("vastgoed")
    n_per_area = ctx.counts(ctx.drivers.households * 0.025, rng)
    x, y, area = ctx.sampler.points(n_per_area, rng)
    n = len(area)
    r = risk[area]
    p_company = np.clip(0.05 * r, 0, 0.5)
    p_foundation = np.clip(0.012 * r, 0, 0.15)
    u = rng.random(n)
    buyer_type = np.where(
        u < p_company, "bedrijf", np.where(u < p_company + p_foundation, "stichting", "particulier")
    )
    # Companies come from a small pool in which a few buy many dwellings.
    legal = buyer_type != "particulier"
    buyer = numbered_ids("P", rng.permutation(n) + 1).astype(object)
    company_draw = pool_draw(rng, int(legal.sum()), max(int(legal.sum() // 3), 1), 1.1)
    buyer[legal] = numbered_ids("R", company_draw + 1)
    woz = ctx.drivers.woz[area] * 1000 * rng.lognormal(0.0, 0.25, n)
    price = woz * rng.lognormal(0.08, 0.10, n)
    odd = rng.random(n) < np.clip(0.02 * r, 0, 0.3)
    price[odd] *= rng.choice([0.55, 1.7], size=int(odd.sum()))
    records = pd.DataFrame(
        {
            "transactie_id": numbered_ids("K", np.arange(1, n + 1)),
            "koper_id": buyer.astype(str),
            "kopertype": buyer_type,
            "x": x,
            "y": y,
            "datum": ctx.dates(n, rng),
            "woz_waarde": woz.round(-3),
            "koopsom": price.round(-3),
            "prijs_wijkt_af_van_woz": np.abs(price / woz - 1) > 0.3,
            "doorverkocht_binnen_1_jaar": rng.random(n) < np.clip(0.015 * r, 0, 0.4),
        }
    )
    return SyntheticData(
        "kadaster_verkopen",
        "vastgoed",
        records,
        "koper_id",
        "koopsom",
        planted,
        pd.Series(risk, index=ctx.codes),
    )


def drug_incidents(ctx: Context) -> SyntheticData:
    """Police registrations of drug offences (drugs): suspects recur, hubs in clusters."""
    rng = ctx.rng("drugsincidenten")
    risk, planted = ctx.risk("drugs")
    expected = (ctx.drivers.inhabitants * 0.0012 + ctx.drivers.addresses * 0.0004) * risk**1.3
    x, y, area = ctx.sampler.points(ctx.counts(expected, rng), rng)
    n = len(area)
    suspects = pool_draw(rng, n, max(int(n * 0.7), 1), 0.6)
    records = pd.DataFrame(
        {
            "incident_id": numbered_ids("D", np.arange(1, n + 1)),
            "verdachte_id": numbered_ids("V", suspects + 1),
            "x": x,
            "y": y,
            "datum": ctx.dates(n, rng),
            "soort": rng.choice(["handel", "bezit", "productie"], size=n, p=[0.45, 0.45, 0.10]),
        }
    )
    return SyntheticData(
        "drugsincidenten",
        "drugs",
        records,
        "verdachte_id",
        None,
        planted,
        pd.Series(risk, index=ctx.codes),
    )


def cannabis_sites(ctx: Context) -> SyntheticData:
    """Dismantled cannabis plantations (drugs): rare, one address each."""
    rng = ctx.rng("hennep")
    risk, planted = ctx.risk("drugs")
    x, y, area = ctx.sampler.points(ctx.counts(ctx.drivers.households * 0.0003 * risk, rng), rng)
    n = len(area)
    records = pd.DataFrame(
        {
            "adres_id": numbered_ids("A", rng.permutation(n) + 1),
            "x": x,
            "y": y,
            "datum": ctx.dates(n, rng),
        }
    )
    return SyntheticData(
        "hennepkwekerijen",
        "drugs",
        records,
        "adres_id",
        None,
        planted,
        pd.Series(risk, index=ctx.codes),
        unit_type="address",
    )


def drug_convictions(ctx: Context) -> SyntheticData:
    """Persons convicted for drug offences, by buurt of residence (a code, no point)."""
    rng = ctx.rng("veroordelingen")
    risk, planted = ctx.risk("drugs")
    counts = ctx.counts(ctx.drivers.inhabitants * 0.0006 * risk, rng)
    area = np.repeat(np.arange(len(counts)), counts)
    n = len(area)
    records = pd.DataFrame(
        {
            "vonnis_id": numbered_ids("O", np.arange(1, n + 1)),
            "persoon_id": numbered_ids("V", rng.permutation(n) + 1),
            "buurtcode": ctx.codes[area].astype(str),
            "datum": ctx.dates(n, rng),
        }
    )
    return SyntheticData(
        "drugsveroordelingen",
        "drugs",
        records,
        "persoon_id",
        None,
        planted,
        pd.Series(risk, index=ctx.codes),
    )


def fiu_reports(ctx: Context) -> SyntheticData:
    """Suspicious transaction reports (transacties): heavy-tailed amounts, repeat
    subjects, a few dominant reporting institutions, and subjects that dominate a buurt."""
    rng = ctx.rng("fiu")
    risk, planted = ctx.risk("transacties")
    expected = (ctx.drivers.inhabitants * 0.006 + ctx.drivers.addresses * 0.002) * risk
    counts = ctx.counts(expected, rng)
    x, y, area = ctx.sampler.points(counts, rng)
    n = len(area)
    # Subjects: per buurt a pool in which some subjects are reported again and again.
    order = np.argsort(area, kind="stable")
    local = np.empty(n, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for i in np.flatnonzero(counts):
        k = counts[i]
        local[order[starts[i] : starts[i] + k]] = pool_draw(rng, k, max(k // 2, 1), 0.9)
    subject_number = starts[area] + local + 1
    subject_type = np.where(rng.random(n) < 0.3 + 0.05 * risk[area], "rechtspersoon", "persoon")
    amount = rng.lognormal(np.log(8_000), 1.3, n)
    tail = rng.random(n) < 0.01 * risk[area]
    amount[tail] *= np.minimum(rng.pareto(1.5, int(tail.sum())) * 10 + 5, 200)
    records = pd.DataFrame(
        {
            "melding_id": numbered_ids("F", np.arange(1, n + 1)),
            "subject_id": numbered_ids("S", subject_number),
            "subjecttype": subject_type,
            "melder": rng.choice(REPORTERS, size=n, p=REPORTER_SHARE),
            "x": x,
            "y": y,
            "datum": ctx.dates(n, rng),
            "bedrag": amount.round(0),
        }
    )
    # A few records could not be geocoded (a foreign address or a P.O. box) and lie
    # outside every buurt; real exports have these, and they must be reported, not lost.
    lost = rng.random(n) < 0.002
    records.loc[lost, ["x", "y"]] = np.nan
    return SyntheticData(
        "fiu_meldingen",
        "transacties",
        records,
        "subject_id",
        "bedrag",
        planted,
        pd.Series(risk, index=ctx.codes),
    )
