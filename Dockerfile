# Cell Explorer: the explorer and JSON API on the shipped models, CPU only.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CELLX_HOST=0.0.0.0 \
    CELLX_PORT=8000 \
    CELLX_MODELS_DIR=/srv/cellx/models

WORKDIR /srv/cellx

# The CPU build of torch (the default wheel would pull several GB of CUDA libraries).
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml README.md ./
COPY app ./app
# Editable, so the app finds templates/, static/ and models/ beside its source.
RUN pip install -e .

COPY templates ./templates
COPY static ./static
COPY models ./models

RUN groupadd --system --gid 10001 cellx \
    && useradd --system --uid 10001 --gid 10001 --home-dir /srv/cellx --no-create-home cellx
USER 10001:10001

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
