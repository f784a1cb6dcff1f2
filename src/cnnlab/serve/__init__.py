"""The web lab behind `cnnlab serve`: a FastAPI app (app.py) with a plain HTML/CSS/JS page (static/).

Needs the serve extras (fastapi, uvicorn, python-multipart, opencv-python-headless<5); nothing here is imported by
the rest of cnnlab.
"""
