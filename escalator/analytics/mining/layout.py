"""Layered (Sugiyama) layout of the directly-follows graph with grandalf, a pure-Python
graph-drawing library, so the picture needs no system binary and no browser script.

Self-loops are left out of the layout (the HTML draws them as a small arc on the node);
every connected component is laid out on its own and placed side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

__all__ = ["Placed", "layout"]

NODE_H, CHAR_W, GAP = 34.0, 7.2, 60.0


@dataclass
class Placed:
    nodes: dict[str, tuple[float, float, float, float]]  # name -> x, y (centre), w, h
    edges: dict[tuple[str, str], list[tuple[float, float]]]  # routed points
    width: float
    height: float


class _View:
    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy = (0.0, 0.0)


class _EdgeView:
    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, pts: list[tuple[float, float]]) -> None:
        self.points = [(float(x), float(y)) for x, y in pts]


def layout(nodes: list[str], edges: list[tuple[str, str]]) -> Placed:
    vertices = {n: Vertex(n) for n in nodes}
    for name, v in vertices.items():
        v.view = _View(max(60.0, CHAR_W * len(name) + 24), NODE_H)
    gedges = []
    for s, t in edges:
        if s != t:
            e = Edge(vertices[s], vertices[t])
            e.view = _EdgeView()
            gedges.append(e)
    graph = Graph(list(vertices.values()), gedges)
    placed_nodes: dict[str, tuple[float, float, float, float]] = {}
    placed_edges: dict[tuple[str, str], list[tuple[float, float]]] = {}
    x_offset, height = 0.0, 0.0
    for component in graph.C:
        sug = SugiyamaLayout(component)
        sug.xspace, sug.yspace = 24, 56
        roots = [v for v in component.sV if not v.e_in()]
        sug.init_all(roots=roots or None)
        sug.draw(3)
        xs = [v.view.xy[0] - v.view.w / 2 for v in component.sV]
        min_x = min(xs)
        max_x = max(v.view.xy[0] + v.view.w / 2 for v in component.sV)
        min_y = min(v.view.xy[1] - v.view.h / 2 for v in component.sV)
        dx, dy = x_offset - min_x + 20, 20 - min_y
        for v in component.sV:
            x, y = v.view.xy
            placed_nodes[v.data] = (x + dx, y + dy, v.view.w, v.view.h)
            height = max(height, y + dy + v.view.h)
        for e in component.sE:
            pts = e.view.points or [e.v[0].view.xy, e.v[1].view.xy]
            placed_edges[(e.v[0].data, e.v[1].data)] = [(x + dx, y + dy) for x, y in pts]
        x_offset += max_x - min_x + GAP
    return Placed(placed_nodes, placed_edges, x_offset + 20, height + 40)
