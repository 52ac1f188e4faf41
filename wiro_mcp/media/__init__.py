"""What tasks make, as files and pictures: fetching outputs only from where Wiro serves them (fetch),
sniffing and saving (files), delivery of a finished task, previews, panorama projection, the view
sheet, decoded panoramas, reads on demand, and image-to-image's input shape.

May import: wiro, catalog, the result shapes (results) and the shared modules.
"""
