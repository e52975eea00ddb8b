# Worker image: Node 20 + ffmpeg + the Python trainer venv (CPU torch; use a CUDA base for GPU hosts).
FROM node:20-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg python3 python3-venv && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY trainer/requirements.txt trainer/requirements.txt
RUN python3 -m venv .venv && .venv/bin/pip install --no-cache-dir -r trainer/requirements.txt
COPY . .
# dataDir in the config should point at the shared volume, e.g. "dataDir": "/data"
ENV AUTOTUNER_PYTHON=/app/.venv/bin/python
CMD ["node", "bin/autotuner.js", "worker"]
