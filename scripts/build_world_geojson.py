"""Build smsgic_analytics/data/world_countries.geojson from world-atlas (ISC; Natural Earth, public domain).

Why: plotly's ISO-3 choropleth fetches country outlines from cdn.plot.ly when a figure is
viewed; with the outlines in the figure, maps draw offline.  Run once, by hand:

    cd /tmp && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    .venv/bin/python scripts/build_world_geojson.py /tmp/package/countries-50m.json

Decodes the TopoJSON arcs, keys each country by ISO 3166-1 alpha-3 (numeric id -> alpha-3
via mobile-codes), simplifies every arc (Douglas-Peucker, shared borders still meet), leaves
out a country's small outlying islands and rounds coordinates, so the file stays small:
every map figure embeds it.  Shapes without an ISO numeric id (Kosovo, Somaliland,
N. Cyprus, ...) are left out: SMSgic rates are per ISO country.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import mobile_codes

TOLERANCE = 0.4  # degrees (~40 km): ample for a world map, and notebooks stay small
SMALL_TOLERANCE = 0.02  # for a ring the coarse tolerance would collapse (a small island state)
MIN_AREA = 0.3  # square degrees: smaller outlying islands are dropped; a country's largest part never is
DIGITS = 2  # ~1 km, finer than the simplification
# Natural Earth draws these territories as parts of France and Norway, but they have their
# own ISO code and MCC (so their own SMS rate): parts inside a box (lon0, lon1, lat0, lat1) move.
TERRITORIES = {
    "FRA": {"GUF": (-55, -51, 2, 6), "GLP": (-62, -61, 15.8, 16.6), "MTQ": (-61.3, -60.7, 14.3, 15),
            "MYT": (44.9, 45.4, -13.1, -12.5), "REU": (55, 56, -21.5, -20.8)},
    "NOR": {"SJM": (10, 35, 74, 82)},  # Svalbard; tiny Jan Mayen stays with Norway
}
OUT = Path(__file__).resolve().parents[1] / "smsgic_analytics" / "data" / "world_countries.geojson"

Point = tuple[float, float]


def decode_arcs(topo: dict) -> list[list[Point]]:
    """Absolute lon/lat points of every (delta-encoded, quantized) arc."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker on one arc, keeping its ends so neighbours' shared borders still meet."""
    if len(points) < 3:
        return points
    (x0, y0), (x1, y1) = points[0], points[-1]
    dx, dy = x1 - x0, y1 - y0
    norm = (dx * dx + dy * dy) ** 0.5

    def distance(p: Point) -> float:
        if norm == 0:  # a closed arc (an island): distance to its start
            return ((p[0] - x0) ** 2 + (p[1] - y0) ** 2) ** 0.5
        return abs(dy * (p[0] - x0) - dx * (p[1] - y0)) / norm

    far = max(range(1, len(points) - 1), key=lambda i: distance(points[i]))
    if distance(points[far]) <= tolerance:
        return [points[0], points[-1]]
    return simplify(points[: far + 1], tolerance)[:-1] + simplify(points[far:], tolerance)


def ring(indexes: list[int], arcs: list[list[Point]], tolerance: float, digits: int = DIGITS) -> list[list[float]]:
    """One closed ring: arcs joined end to start (~i is arc i reversed), simplified, rounded."""
    points: list[list[float]] = []
    for i in indexes:
        arc = simplify(arcs[i] if i >= 0 else arcs[~i][::-1], tolerance)
        for lon, lat in arc[1:] if points else arc:  # an arc starts where the previous one ends
            p = [round(lon, digits), round(lat, digits)]
            if not points or p != points[-1]:
                points.append(p)
    if points and points[0] != points[-1]:
        points.append(points[0])
    return points


def area(points: list[list[float]]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:]))) / 2


def polygons(geometry: dict, arcs: list[list[Point]]) -> list[list[list[list[float]]]]:
    """The country's polygons: coarse where that keeps a shape, finer where it would not."""
    parts = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
    full = [[ring(r, arcs, SMALL_TOLERANCE) for r in part] for part in parts]
    # A city state (the Vatican) vanishes at DIGITS decimals: keep it at 4.
    full = [rings if len(rings[0]) >= 4 else [ring(r, arcs, 0, 4) for r in part] for part, rings in zip(parts, full)]
    largest = max(area(rings[0]) for rings in full)
    out = []
    for part, rings in zip(parts, full):
        if area(rings[0]) < MIN_AREA and area(rings[0]) < largest:
            continue
        coarse = [ring(r, arcs, TOLERANCE) for r in part]
        chosen = coarse if len(coarse[0]) >= 4 else rings
        out.append([r for r in chosen if len(r) >= 4])
    return [p for p in out if p]


def main(path: str) -> None:
    sys.setrecursionlimit(10_000)  # simplify() recurses once per kept point of the longest arc
    topo = json.loads(Path(path).read_text(encoding="utf-8"))
    with open(mobile_codes.COUNTRY_JSON_PATH, encoding="utf-8") as fh:
        rows = json.load(fh)  # [name, alpha2, alpha3, numeric, mcc]
    alpha3 = {row[3]: row[2] for row in rows}
    names = {row[2]: row[0] for row in rows}
    arcs = decode_arcs(topo)
    features: dict[str, dict] = {}
    for geometry in topo["objects"]["countries"]["geometries"]:
        name = geometry["properties"]["name"]
        for iso3, part in split_territories(alpha3.get(geometry.get("id")), geometry, arcs):
            label = name if iso3 == alpha3.get(geometry.get("id")) else names[iso3]
            add(features, iso3, label, polygons(part, arcs) if iso3 else [], part)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"type": "FeatureCollection", "features": [features[k] for k in sorted(features)]},
                              separators=(",", ":")), encoding="utf-8")
    print(f"{len(features)} countries, {OUT.stat().st_size:,} bytes -> {OUT}")


def split_territories(iso3: str | None, geometry: dict, arcs: list[list[Point]]) -> list[tuple[str | None, dict]]:
    """The geometry, less the parts that are territories with their own ISO code (TERRITORIES)."""
    if iso3 not in TERRITORIES or geometry["type"] != "MultiPolygon":
        return [(iso3, geometry)]
    parts: dict[str | None, list] = {}
    for part in geometry["arcs"]:
        lon, lat = arcs[part[0][0] if part[0][0] >= 0 else ~part[0][0]][0]
        owner = next((code for code, (x0, x1, y0, y1) in TERRITORIES[iso3].items()
                      if x0 <= lon <= x1 and y0 <= lat <= y1), iso3)
        parts.setdefault(owner, []).append(part)
    return [(code, {"type": "MultiPolygon", "arcs": group}) for code, group in parts.items()]


def add(features: dict[str, dict], iso3: str | None, name: str, polys: list, geometry: dict) -> None:
    if not polys:
        print(f"left out: {name} (ISO numeric id {geometry.get('id')}, alpha-3 {iso3})", file=sys.stderr)
        return
    if iso3 in features:  # a territory under its country's id (Ashmore and Cartier Is.: AUS)
        features[iso3]["geometry"]["coordinates"].extend(polys)
        print(f"merged: {name} into {iso3}", file=sys.stderr)
        return
    features[iso3] = {"type": "Feature", "id": iso3, "properties": {"name": name},
                      "geometry": {"type": "MultiPolygon", "coordinates": polys}}


if __name__ == "__main__":
    main(sys.argv[1])
