# crowdwork-bot: one container, the SQLite database and delivered files in the /app/data volume.
#   docker compose up -d --build     (compose.yaml; settings from .env)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # the code runs from /app, where migrations/ sits next to bot/ (bot/db.py finds it there)
    PYTHONPATH=/app

RUN useradd --create-home --uid 10001 --user-group bot

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY migrations ./migrations
RUN pip install .

# data/ holds bot.db, files/, health.json and the run lock; owned by the bot before it
# becomes a volume, so a new named volume starts writable by it
RUN mkdir -p /app/data && chown bot:bot /app/data
VOLUME /app/data

USER bot

# healthy once connected to Discord and sweeping (reads data/health.json; bot/ops/health.py)
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

CMD ["python", "-m", "bot"]
