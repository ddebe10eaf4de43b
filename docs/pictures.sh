#!/usr/bin/env bash
# Makes the README's before / MicroAST / paint pictures (docs/*.jpg) from
# ../shared: stata.jpg at 512 px with the la_muse painting as the style.
# Run after `make build`, from the repository root:  bash docs/pictures.sh
set -euo pipefail
shared=${STYLIZE_SHARED:-../shared}
mkdir -p .cache/models
bin/stylize models import microast "$shared/upstream/MicroAST" -o .cache/models
bin/stylize models import cd-vgg "$shared/upstream/Collaborative-Distillation" -o .cache/models
style=$shared/media/images/la_muse.jpg
content=docs/stata-before.jpg # stata.jpg at 512 px: what both methods work at
ffmpeg -loglevel error -y -i "$shared/media/images/stata.jpg" -vf scale=512:-2:flags=lanczos -q:v 3 "$content"
bin/stylize image --style "$style" --quality 90 -o docs/stata-microast-la_muse.jpg "$content"
bin/stylize paint --style "$style" --size 512 --iterations 300 --quality 90 -o docs/stata-paint-la_muse.jpg "$content"
