"""The model board: server-rendered pages of the served models, their versions and lineage,
and charts of the last minutes' traffic (``/board``; off with ``--enable_model_board=false``)."""

from modelship.serving.board.routes import BOARD_PATH, board_routes, redirect_browsers

__all__ = ["BOARD_PATH", "board_routes", "redirect_browsers"]
