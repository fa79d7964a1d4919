"""What QGIS reads about the outputs besides their styles: the coordinate reference
system in full (``spatialrefsys``), each layer's metadata (title, abstract, sources,
attribution, licence) in the form of QGIS's layer metadata, and the project's.

QGIS 3.22 takes a project's CRS from ``<projectCrs>`` only when the ``srsid`` is one
of its own (2517 is its id of EPSG:28992) or a WKT is given
(``QgsCoordinateReferenceSystem::readXml``); both are written. A GeoPackage layer's
metadata is read from ``gpkg_metadata`` where ``md_standard_uri`` is QGIS's DTD,
referenced per table (``QgsGeoPackageProviderConnection``; GDAL passes it on as
``GPKG_METADATA_ITEM_1``).
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pyproj import CRS

RD_NEW_AUTHID = "EPSG:28992"
RD_NEW_NAME = "Amersfoort / RD New"
QGIS_SRSID = 2517  # QGIS's own id of EPSG:28992 in its srs.db
# the PROJ string QGIS writes for EPSG:28992 (with the datum shift to WGS84)
RD_NEW_PROJ = (
    "+proj=sterea +lat_0=52.1561605555556 +lon_0=5.38763888888889 +k=0.9999079"
    " +x_0=155000 +y_0=463000 +ellps=bessel +towgs84=565.2369,50.0087,465.658,"
    "-0.406857330322398,0.350732676542563,-1.8703473836068,4.0812 +units=m +no_defs"
)
QGIS_DTD = "http://mrcc.com/qgis.dtd"
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"

Extent = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax in RD New metres


@dataclass(frozen=True, kw_only=True)
class LayerMetadata:
    """One layer's metadata: its title, what it shows, the sources of its figures, the
    attribution they require, the licence, and its extent (RD New metres)."""

    title: str
    abstract: str
    sources: tuple[str, ...]
    attribution: str
    licence: str
    extent: Extent | None = None
    language: str = "nl"

    @property
    def description(self) -> str:
        """The abstract with sources, attribution and licence in one text: what
        ``gpkg_contents.description`` carries, so that a copied layer keeps it."""
        words = WORDS[self.language]
        parts = [self.abstract.rstrip(".") + "."]
        if self.sources:
            parts.append(f"{words['sources']}: {'; '.join(self.sources)}.")
        parts.append(self.attribution.rstrip(".") + ".")
        parts.append(f"{words['licence']}: {self.licence}.")
        return " ".join(parts)


WORDS = {
    "nl": {"sources": "Bronnen", "licence": "Licentie"},
    "en": {"sources": "Sources", "licence": "Licence"},
}


def rd_new_srs() -> ET.Element:
    """EPSG:28992 as QGIS writes a ``spatialrefsys``: WKT, PROJ string, QGIS's srsid,
    the EPSG code and its names."""
    element = ET.Element("spatialrefsys", {"nativeFormat": "Wkt"})
    for tag, text in (
        ("wkt", _rd_new_wkt()),
        ("proj4", RD_NEW_PROJ),
        ("srsid", str(QGIS_SRSID)),
        ("srid", "28992"),
        ("authid", RD_NEW_AUTHID),
        ("description", RD_NEW_NAME),
        ("projectionacronym", "sterea"),
        ("ellipsoidacronym", "EPSG:7004"),
        ("geographicflag", "false"),
    ):
        ET.SubElement(element, tag).text = text
    return element


@cache
def _rd_new_wkt() -> str:
    return str(CRS.from_epsg(28992).to_wkt("WKT2_2019"))


def layer_metadata_xml(meta: LayerMetadata, identifier: str) -> ET.Element:
    """The layer metadata QGIS shows in a layer's properties (Metadata tab):
    identifier, title, abstract, keywords (the sources), rights (the attribution),
    licence, CRS and extent (``QgsLayerMetadata::readMetadataXml``)."""
    root = ET.Element("qgis", {"version": "3.22.0-Białowieża"})
    ET.SubElement(root, "identifier").text = identifier
    ET.SubElement(root, "parentidentifier").text = "zicht"
    ET.SubElement(root, "language").text = "dut" if meta.language == "nl" else "eng"
    ET.SubElement(root, "type").text = "dataset"
    ET.SubElement(root, "title").text = meta.title
    ET.SubElement(root, "abstract").text = meta.description
    keywords = ET.SubElement(root, "keywords", {"vocabulary": "sources"})
    for source in meta.sources:
        ET.SubElement(keywords, "keyword").text = source
    ET.SubElement(root, "links")
    ET.SubElement(root, "fees")
    ET.SubElement(root, "rights").text = meta.attribution
    ET.SubElement(root, "license").text = meta.licence
    ET.SubElement(root, "encoding")
    ET.SubElement(root, "crs").append(rd_new_srs())
    extent = ET.SubElement(root, "extent")
    if meta.extent is not None:
        xmin, ymin, xmax, ymax = (f"{v:.1f}" for v in meta.extent)
        ET.SubElement(
            extent,
            "spatial",
            {
                "crs": RD_NEW_AUTHID,
                "dimensions": "2",
                "minx": xmin,
                "miny": ymin,
                "maxx": xmax,
                "maxy": ymax,
                "minz": "0",
                "maxz": "0",
            },
        )
    return root


def project_metadata_xml(title: str, abstract: str, author: str) -> ET.Element:
    """The project's metadata (Project Properties > Metadata), as
    ``QgsProjectMetadata::readMetadataXml`` reads it."""
    root = ET.Element("projectMetadata")
    for tag, text in (
        ("identifier", "zicht"),
        ("parentidentifier", ""),
        ("language", ""),
        ("type", "project"),
        ("title", title),
        ("abstract", abstract),
    ):
        ET.SubElement(root, tag).text = text
    ET.SubElement(root, "links")
    ET.SubElement(root, "author").text = author
    return root


_METADATA_TABLES = """
CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TABLE IF NOT EXISTS gpkg_metadata (
  id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,
  md_scope TEXT NOT NULL DEFAULT 'dataset',
  md_standard_uri TEXT NOT NULL,
  mime_type TEXT NOT NULL DEFAULT 'text/xml',
  metadata TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (
  reference_scope TEXT NOT NULL,
  table_name TEXT,
  column_name TEXT,
  row_id_value INTEGER,
  timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  md_file_id INTEGER NOT NULL,
  md_parent_id INTEGER,
  CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
  CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id));
"""
_EXTENSION = "http://www.geopackage.org/spec120/#extension_metadata"


def write_gpkg_metadata(path: Path, layers: dict[str, LayerMetadata], timestamp: str) -> None:
    """Each layer's metadata into the GeoPackage at ``path``: QGIS's layer metadata
    XML in ``gpkg_metadata`` (referenced per table in ``gpkg_metadata_reference``,
    with the metadata extension registered; ``timestamp`` the run's, ISO 8601 UTC)
    and the description in ``gpkg_contents.description``."""
    with sqlite3.connect(path) as db:
        db.executescript(_METADATA_TABLES)
        for table in ("gpkg_metadata", "gpkg_metadata_reference"):
            db.execute(
                "INSERT INTO gpkg_extensions (table_name, column_name, extension_name,"
                " definition, scope) SELECT ?, NULL, 'gpkg_metadata', ?, 'read-write'"
                " WHERE NOT EXISTS (SELECT 1 FROM gpkg_extensions WHERE table_name = ?)",
                (table, _EXTENSION, table),
            )
        for table, meta in layers.items():
            xml = DOCTYPE + ET.tostring(layer_metadata_xml(meta, table), encoding="unicode")
            cursor = db.execute(
                "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata)"
                " VALUES ('dataset', ?, 'text/xml', ?)",
                (QGIS_DTD, xml),
            )
            db.execute(
                "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, timestamp,"
                " md_file_id) VALUES ('table', ?, ?, ?)",
                (table, timestamp, cursor.lastrowid),
            )
            db.execute(
                "UPDATE gpkg_contents SET description = ? WHERE table_name = ?",
                (meta.description, table),
            )
