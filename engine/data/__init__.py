"""Data shipped with the engine: the Amsterdam demo (CBS/Politie, CC BY 4.0)."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_BOUNDARIES = HERE / "amsterdam_buurten_2024.gpkg"
DEMO_CONFIG = HERE / "demo.toml"
# the SBI 2008 tree (CBS), read by zicht.engine.sbi
SBI_TREE = HERE / "sbi2008.csv"
# the JSON Schema of the TOML config, for editors (``zicht config schema`` prints it)
CONFIG_SCHEMA = HERE / "zicht-config.schema.json"
