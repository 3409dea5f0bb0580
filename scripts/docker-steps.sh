#!/usr/bin/env bash
# Run the Dockerfile's steps without a container engine, to prove they work: the COPY
# sources are copied into a throwaway /app-like folder, each pip RUN step runs there in a
# throwaway venv (system steps such as useradd/chown are printed and skipped), then the
# image's commands run as the container would run them (WORKDIR, PYTHONPATH).
# It installs the dependencies from the package index (about 15 s); CI runs it, since CI has
# no container engine to build the image with.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
app="$work/app"
mkdir -p "$app"

# join continuation lines, drop comments
steps="$(sed -e 's/[[:space:]]*#.*$//' "$repo/Dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep -v '^[[:space:]]*$')"

"$PYTHON" -m venv "$work/venv"
export PATH="$work/venv/bin:$PATH" PYTHONPATH="$app" PIP_DISABLE_PIP_VERSION_CHECK=1
while IFS= read -r line; do
    instruction="${line%% *}"
    args="${line#* }"
    case "$instruction" in
        COPY)
            read -r -a parts <<< "$args"
            target="${parts[-1]}"
            for source in "${parts[@]:0:${#parts[@]}-1}"; do
                if [[ "$target" == */ ]]; then
                    mkdir -p "$app/$target"
                    cp -r "$repo/$source" "$app/$target"
                else
                    mkdir -p "$(dirname "$app/$target")"
                    cp -r "$repo/$source" "$app/$target"
                fi
            done
            echo "COPY $args: done" ;;
        RUN)
            if [[ "$args" == pip\ * ]]; then
                echo "RUN $args"
                (cd "$app" && eval "$args" --quiet)
            else
                echo "RUN $args: skipped (a system step; needs root in the image)"
            fi ;;
    esac
done <<< "$steps"

# the container's commands, in /app as WORKDIR, with a throwaway data folder
cd "$app"
export DISCORD_TOKEN="MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
python -m bot check
python -m bot db upgrade
python -m bot db backup data/backup-test
if python -m bot health; then
    echo "health said healthy without a running bot" >&2
    exit 1
fi
echo "docker steps OK"
