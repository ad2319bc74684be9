# One image for the API and the workers; docker-compose.yml and docs/deployment.md use it.
#
# TORCH_INDEX_URL picks the torch build. The default, PyTorch's CPU wheel index, keeps the
# image small (API and CPU workers). The GPU worker builds with https://pypi.org/simple,
# whose Linux torch wheel bundles the CUDA libraries: no CUDA base image is needed, only
# the NVIDIA driver and container toolkit on the host.
ARG PYTHON_VERSION=3.11

# The dashboard, built with Node and copied into the Python image as static files (the API
# serves frontend/dist at /). npm install rather than npm ci: the lock file holds only the
# linux-x64 build of rollup, and an arm64 host needs its own.
FROM node:22-slim AS dashboard
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm install --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:${PYTHON_VERSION}-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Optional dependency groups of pyproject.toml to add, comma-separated: "hf" puts
# transformers in the image, for workers that run tasks with Hugging Face models.
ARG EXTRAS=""

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 squeezelab \
 && useradd --system --uid 10001 --gid squeezelab --create-home squeezelab

WORKDIR /app

# Layers go from the slowest-changing to the fastest, so that editing code reuses the
# cached installs: torch (large), then the other dependencies (they change only with
# pyproject.toml), then the source.
RUN pip install torch==2.13.0 --index-url "${TORCH_INDEX_URL}"

COPY pyproject.toml README.md ./
RUN python -c "import sys, tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; extras = [e for e in sys.argv[1].split(',') if e]; print('\n'.join(p['dependencies'] + [r for e in extras for r in p['optional-dependencies'][e]]))" "${EXTRAS}" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY alembic.ini ./
COPY migrations/ migrations/
COPY compression/ compression/
COPY client/ client/
COPY api/ api/
COPY workers/ workers/
COPY squeezelab/ squeezelab/
COPY --from=dashboard /frontend/dist frontend/dist

# Editable, so that the packages run from /app beside alembic.ini and migrations/ (which
# are not part of the wheel) and `squeezelab api` can migrate the database.
RUN pip install --no-deps --editable . \
 && mkdir -p /data/artifacts /app/.squeezelab \
 && chown -R squeezelab:squeezelab /data /app/.squeezelab

# A named volume mounted on /data/artifacts starts with this owner, so the non-root
# user can write to it.
USER squeezelab

EXPOSE 8000
CMD ["squeezelab", "api", "--host", "0.0.0.0", "--port", "8000"]
