"""Tests of wiro_mcp/media/: where outputs may come from, downloads, files, previews, projections, looking."""
