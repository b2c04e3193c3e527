from quality.figure_models import FigureSnapshot

__all__ = ["FigureSnapshot"]
