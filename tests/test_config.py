"""engine.config: TOML validated on load, errors name the file and key."""

from __future__ import annotations

import textwrap

import pytest

from zicht.engine.config import ConfigError, load_config
from zicht.engine.data import DEMO_BOUNDARIES, DEMO_CONFIG


def test_demo_config_loads():
    cfg = load_config(DEMO_CONFIG)
    assert cfg.boundaries.path == DEMO_BOUNDARIES
    assert cfg.indicator("misdrijven_per_1000").numerator == "misdrijven_2025"
    assert len(cfg.sha256) == 64


def _write(tmp_path, body: str):
    (tmp_path / "areas.gpkg").write_bytes(DEMO_BOUNDARIES.read_bytes())
    path = tmp_path / "run.toml"
    path.write_text(textwrap.dedent(body))
    return path


BASE = """
[boundaries]
path = "areas.gpkg"

[[tables]]
id = "k"
path = "areas.gpkg"
key = "buurtcode"
"""

INHABITANTS = """
[[indicators]]
id = "inwoners"
kind = "count"
table = "k"
column = "inwoners"
label_nl = "Inwoners"
label_en = "Inhabitants"
"""


@pytest.mark.parametrize(
    "extra, message",
    [
        ("[run]\nsed = 3\n", r"unknown key 'run.sed'; did you mean 'run.seed'\?"),
        ("[run]\nseed = 'x'\n", r"key 'run.seed' must be an integer"),
        ("[run]\nseed = true\n", r"key 'run.seed' must be an integer"),
        ("[[indicator]]\nid = 'x'\n", r"unknown key 'indicator'; did you mean 'indicators'"),
        ("[run]\ncache = 3\n", r"key 'run.cache' must be true, false or a folder, got 3"),
        ("[run]\ncache = 'run.toml'\n", r"key 'run.cache' names .*run.toml, which is a file"),
    ],
)
def test_bad_run_keys(tmp_path, extra, message):
    path = _write(tmp_path, BASE + extra)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_the_cache_key_takes_true_false_or_a_folder_beside_the_config(tmp_path):
    assert load_config(_write(tmp_path, BASE)).run.cache is True
    assert load_config(_write(tmp_path, BASE + "[run]\ncache = false\n")).run.cache is False
    kept = load_config(_write(tmp_path, BASE + "[run]\ncache = 'kept'\n")).run.cache
    assert kept == tmp_path / "kept"


def test_unknown_key_in_an_indicator_suggests_the_nearest(tmp_path):
    path = _write(tmp_path, BASE + INHABITANTS.replace("column", "colum"))
    with pytest.raises(
        ConfigError,
        match=r"'indicators\[0\].colum'; did you mean "
        r"'indicators\[0\].column'",
    ):
        load_config(path)


def test_bad_choice_suggests(tmp_path):
    path = _write(tmp_path, BASE + INHABITANTS.replace('"count"', '"cuont"'))
    with pytest.raises(
        ConfigError, match=r"'indicators\[0\].kind' is 'cuont'.*did you mean 'count'"
    ):
        load_config(path)


def test_missing_file_names_the_key(tmp_path):
    path = _write(tmp_path, BASE.replace('path = "areas.gpkg"\n\n[[', 'path = "gone.gpkg"\n\n[['))
    with pytest.raises(ConfigError, match=r"key 'boundaries.path' names .*gone.gpkg"):
        load_config(path)


def test_missing_config_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[boundaries\npath=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_mean_needs_a_weight_and_links_must_exist(tmp_path):
    mean = INHABITANTS + textwrap.dedent("""
        [[indicators]]
        id = "hhgrootte"
        kind = "mean"
        table = "k"
        column = "huishoudensgrootte"
        label_nl = "x"
        label_en = "x"
        """)
    with pytest.raises(ConfigError, match=r"missing key 'indicators\[1\].weight'"):
        load_config(_write(tmp_path, BASE + mean))
    with pytest.raises(ConfigError, match=r"names 'inwonres'.*did you mean 'inwoners'"):
        load_config(_write(tmp_path, BASE + mean + 'weight = "inwonres"\n'))


def test_rate_of_a_rate_is_refused(tmp_path):
    body = (
        BASE
        + INHABITANTS
        + textwrap.dedent("""
        [[indicators]]
        id = "r1"
        kind = "rate"
        numerator = "inwoners"
        denominator = "inwoners"
        label_nl = "x"
        label_en = "x"

        [[indicators]]
        id = "r2"
        kind = "rate"
        numerator = "r1"
        denominator = "inwoners"
        label_nl = "x"
        label_en = "x"
        """)
    )
    with pytest.raises(ConfigError, match=r"'indicators\[2\].numerator' names 'r1', a rate"):
        load_config(_write(tmp_path, body))


def test_duplicate_ids_and_unknown_table(tmp_path):
    with pytest.raises(ConfigError, match=r"'indicators\[1\].id' repeats the id 'inwoners'"):
        load_config(_write(tmp_path, BASE + INHABITANTS + INHABITANTS))
    with pytest.raises(ConfigError, match=r"'indicators\[0\].table' names 'kk'"):
        load_config(_write(tmp_path, BASE + INHABITANTS.replace('table = "k"', 'table = "kk"')))


MICRO = """
[[microdata]]
id = "fiu"
generator = "fiu_meldingen"
"""

FIU_COUNT = """
[[indicators]]
id = "meldingen"
kind = "count"
microdata = "fiu"
measure = "records"
label_nl = "x"
label_en = "x"
"""


def test_microdata_config_errors(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"'microdata\[0\].generator' is 'fiu_meldngen'.*"
        r"did you mean 'fiu_meldingen'",
    ):
        load_config(_write(tmp_path, BASE + MICRO.replace("fiu_meldingen", "fiu_meldngen")))
    with pytest.raises(ConfigError, match=r"'microdata\[0\]' \(fiu\) needs either 'path'"):
        load_config(_write(tmp_path, BASE + MICRO + 'path = "areas.gpkg"\n'))
    with pytest.raises(ConfigError, match=r"'microdata\[0\].unit' is set by the generator"):
        load_config(_write(tmp_path, BASE + MICRO + 'unit = "u"\n'))
    with pytest.raises(
        ConfigError,
        match=r"'synthetic.inhabitants' names 'inwoners', which is "
        r"not an indicator",
    ):
        load_config(_write(tmp_path, BASE + MICRO + FIU_COUNT))


def test_measure_and_kind_must_agree(tmp_path):
    body = (
        BASE
        + INHABITANTS
        + """
[[microdata]]
id = "f"
path = "areas.gpkg"
unit = "buurtcode"
code = "buurtcode"
"""
        + FIU_COUNT.replace('"fiu"', '"f"').replace('"records"', '"amount"')
    )
    with pytest.raises(
        ConfigError,
        match=r"'indicators\[1\].kind' must be 'sum' for measure "
        r"'amount'",
    ):
        load_config(_write(tmp_path, body))


def test_disclosure_section_is_validated(tmp_path):
    with pytest.raises(ConfigError, match=r"\[disclosure\]: dominance_n must be 1, 2 or 3"):
        load_config(_write(tmp_path, BASE + "[disclosure]\ndominance_n = 5\n"))
    with pytest.raises(ConfigError, match=r"'disclosure.min_units' must be an integer"):
        load_config(_write(tmp_path, BASE + "[disclosure]\nmin_units = 'tien'\n"))
    cfg = load_config(_write(tmp_path, BASE + "[disclosure]\np_percent = 20\n"))
    assert cfg.disclosure.params.p_percent == 20.0
    assert cfg.disclosure.params.min_units == 10  # the documented default


def test_every_problem_is_reported_at_once(tmp_path):
    body = (
        BASE
        + "[run]\nsed = 3\n[spatial]\npermutations = 9\nalpha = 2\n"
        + INHABITANTS.replace('"count"', '"cuont"')
    )
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, body))
    problems = info.value.problems
    assert len(problems) == 4, problems
    text = str(info.value)
    assert "unknown key 'run.sed'" in text
    assert "key 'spatial.permutations' must be at least 99" in text
    assert "key 'spatial.alpha' must be less than 1" in text
    assert "key 'indicators[0].kind' is 'cuont'" in text
    assert all(line.startswith(str(tmp_path)) for line in text.splitlines())


def test_an_indicator_needs_exactly_one_source(tmp_path):
    both = INHABITANTS + 'numerator = "inwoners"\ndenominator = "inwoners"\n'
    with pytest.raises(
        ConfigError,
        match=r"'indicators\[0\]' \(inwoners\) needs exactly one "
        r"source",
    ):
        load_config(_write(tmp_path, BASE + both))
    stray = INHABITANTS + 'measure = "records"\n'
    with pytest.raises(
        ConfigError,
        match=r"'indicators\[0\].measure' only applies with "
        r"'microdata'",
    ):
        load_config(_write(tmp_path, BASE + stray))


def test_where_defaults_are_not_shared_and_lookup_errors_name_the_id():
    from zicht.engine.config import MicrodataIndicator

    a = MicrodataIndicator(
        id="a", kind="count", label_nl="a", label_en="a", microdata="m", measure="records"
    )
    b = MicrodataIndicator(
        id="b", kind="count", label_nl="b", label_en="b", microdata="m", measure="records"
    )
    assert a.where == {} and a.where is not b.where
    cfg = load_config(DEMO_CONFIG)
    with pytest.raises(KeyError, match="did you mean 'inwoners'"):
        cfg.indicator("inwonres")


def test_shipped_json_schema_matches_the_model():
    import json

    from zicht.engine.config import config_schema
    from zicht.engine.data import CONFIG_SCHEMA

    # regenerate with: zicht config schema > engine/data/zicht-config.schema.json
    assert json.loads(CONFIG_SCHEMA.read_text(encoding="utf-8")) == config_schema()
    schema = config_schema()
    assert schema["$defs"]["SpatialSpec"]["properties"]["correction"]["enum"] == [
        "fdr",
        "bonferroni",
        "none",
    ]
    assert schema["$defs"]["SpatialSpec"]["additionalProperties"] is False


def test_the_declared_generators_are_the_implemented_ones():
    # the config declares the generator names (it imports no source); the generators
    # implement exactly those, in that order (the order of the "must be one of" list)
    from zicht.engine.config import GENERATOR_NAMES, SBI_GENERATORS
    from zicht.engine.sources.synthetic import GENERATORS

    assert tuple(GENERATORS) == GENERATOR_NAMES
    assert set(SBI_GENERATORS) <= set(GENERATOR_NAMES)


def test_config_commands(tmp_path, capsys):
    import json

    from zicht.engine.cli import main

    assert main(["config", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "zicht run configuration"
    assert main(["config", "check", str(DEMO_CONFIG)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = _write(tmp_path, BASE + "[run]\nsed = 3\n")
    assert main(["config", "check", str(bad)]) == 2


def test_scores_rank_risk_not_size(tmp_path):
    """A count in a score needs an exposure; a model takes counts as features only
    when the config says so."""
    count = INHABITANTS + textwrap.dedent("""
        [[indicators]]
        id = "incidenten"
        theme = "drugs"
        kind = "count"
        table = "k"
        column = "incidenten"
        direction = "higher"
        label_nl = "x"
        label_en = "x"
        """)
    with pytest.raises(ConfigError, match=r"'indicators\[1\].exposure' is missing: 'incidenten'"):
        load_config(_write(tmp_path, BASE + count))
    with pytest.raises(ConfigError, match=r"'indicators\[1\].exposure' names 'inwonres'"):
        load_config(_write(tmp_path, BASE + count + 'exposure = "inwonres"\n'))
    good = BASE + count + 'exposure = "inwoners"\n'
    assert load_config(_write(tmp_path, good)).indicator("incidenten").exposure == "inwoners"
    model = textwrap.dedent("""
        [[models.targets]]
        theme = "drugs"
        target = "incidenten"
        features = ["inwoners"]
        """)
    with pytest.raises(ConfigError, match=r"features' has counts or sums \(inwoners\)"):
        load_config(_write(tmp_path, good + model))
    assert load_config(_write(tmp_path, good + model + "size_features = true\n"))


LEAKY = """
[[microdata]]
id = "f"
path = "areas.gpkg"
unit = "buurtcode"
code = "buurtcode"

[[indicators]]
id = "kwekerijen"
theme = "drugs"
kind = "count"
microdata = "f"
measure = "records"
exposure = "inwoners"
label_nl = "x"
label_en = "x"

[[indicators]]
id = "kwekerijen_per_1000"
kind = "rate"
numerator = "kwekerijen"
denominator = "inwoners"
per = 1000
label_nl = "x"
label_en = "x"

[[indicators]]
id = "grote_kwekerijen"
kind = "count"
microdata = "f"
measure = "records"
where = { groot = [true] }
label_nl = "x"
label_en = "x"

[[indicators]]
id = "aandeel_groot"
kind = "share"
numerator = "grote_kwekerijen"
denominator = "inwoners"
label_nl = "x"
label_en = "x"

[[indicators]]
id = "oppervlakte"
kind = "sum"
table = "k"
column = "oppervlakte"
label_nl = "x"
label_en = "x"

[[indicators]]
id = "dichtheid"
kind = "rate"
numerator = "inwoners"
denominator = "oppervlakte"
label_nl = "x"
label_en = "x"

[[models.targets]]
theme = "drugs"
target = "kwekerijen"
"""


def test_model_features_that_carry_the_target_are_refused(tmp_path):
    """A rate of the target, or of another filter of its records, is target leakage:
    refused with both ids and the key; a feature of other sources passes (control),
    and the default feature list leaves the leaking ones out."""
    from zicht.engine.analysis.modelled import model_features

    body = BASE + INHABITANTS + LEAKY
    for feature, why in [
        ("kwekerijen_per_1000", r"is built from the target 'kwekerijen' \(through its numerator"),
        ("aandeel_groot", r"reads the source of the target 'kwekerijen' \(microdata 'f'\)"),
    ]:
        with pytest.raises(
            ConfigError, match=rf"'models.targets\[0\].features' names '{feature}', which {why}"
        ):
            load_config(_write(tmp_path, body + f'features = ["dichtheid", "{feature}"]\n'))
    config = load_config(_write(tmp_path, body + 'features = ["dichtheid"]\n'))
    assert config.models.targets[0].features == ("dichtheid",)
    default = load_config(_write(tmp_path, body))
    assert model_features(default, default.models.targets[0]) == ["dichtheid"]
    # without the check the default list would take both leaking rates
    unguarded = [d.id for d in default.indicators if d.kind in ("rate", "share")]
    assert {"kwekerijen_per_1000", "aandeel_groot", "dichtheid"} <= set(unguarded)
