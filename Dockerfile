# One image for the API and the workers; docker-compose.yml and docs/deployment.md use it.
#
# TORCH_INDEX_URL picks the torch build. The default, PyTorch's CPU wheel index, keeps the
# image small (API and CPU workers). The GPU worker builds with https://pypi.org/simple,
# whose Linux torch wheel bundles the CUDA libraries: no CUDA base image is needed, only
# the NVIDIA driver and container toolkit on the host.
ARG PYTHON_VERSION=3.11

# The dashboard, built with Node from the lock file (which lists every platform's builds).
FROM node:22-slim AS dashboard
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# squeezelab's wheel, the one `pip install squeezelab` gets: the packages, the Alembic
# migrations and the dashboard, which build_hooks.py copies from frontend/dist into it.
FROM python:${PYTHON_VERSION}-slim AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE build_hooks.py ./
COPY compression/ compression/
COPY client/ client/
COPY api/ api/
COPY workers/ workers/
COPY squeezelab/ squeezelab/
COPY --from=dashboard /frontend/dist frontend/dist
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:${PYTHON_VERSION}-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Optional dependency groups of pyproject.toml to add to `all` (the API and the worker),
# comma-separated: "hf" puts transformers in the image, for workers that run tasks with
# Hugging Face models.
ARG EXTRAS=""

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 squeezelab \
 && useradd --system --uid 10001 --gid squeezelab --create-home squeezelab

WORKDIR /app

# Layers go from the slowest-changing to the fastest, so that editing code reuses the
# cached installs: torch (large), then the other dependencies of squeezelab[all] (they
# change only with pyproject.toml), then the wheel.
RUN pip install torch==2.13.0 --index-url "${TORCH_INDEX_URL}"

COPY pyproject.toml ./
RUN python -c "import sys, tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; extras = {'server', 'worker', *filter(None, sys.argv[1].split(','))}; optional = [r for e in sorted(extras) for r in p['optional-dependencies'][e] if not r.startswith('squeezelab[')]; print('\n'.join(p['dependencies'] + optional))" "${EXTRAS}" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt pyproject.toml

COPY --from=wheel /wheels /wheels
RUN pip install --no-deps /wheels/*.whl \
 && rm -rf /wheels \
 && mkdir -p /data/artifacts /app/.squeezelab \
 && chown -R squeezelab:squeezelab /data /app/.squeezelab

# A named volume mounted on /data/artifacts starts with this owner, so the non-root
# user can write to it.
USER squeezelab

EXPOSE 8000
CMD ["squeezelab", "api", "--host", "0.0.0.0", "--port", "8000"]
