# stylize — the two commands a newcomer needs are `make demo` and `make test`.
# Both install what is missing first (idempotent): ffmpeg from Debian's
# packages, and onnxruntime 1.24.1 (CPU) from the npm package onnxruntime-node.

SHELL := /bin/bash
ORT_VERSION := 1.24.1
ORT_DIR     := .cache/onnxruntime
ORT_LIB     := $(ORT_DIR)/libonnxruntime.so.1
GO          ?= go
export STYLIZE_ORT_LIB ?= $(CURDIR)/$(ORT_LIB)

.PHONY: all deps ffmpeg ort build test vet demo bench clean

all: build

deps: ffmpeg ort

ort: $(ORT_LIB)

# npm pack fetches the package tarball without installing node modules; only
# the linux/x64 CPU library is kept (about 35 MB), the rest is deleted.
$(ORT_LIB):
	@command -v npm >/dev/null || { echo "npm is needed to fetch onnxruntime-node@$(ORT_VERSION): install Node.js (apt-get install npm)"; exit 1; }
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "fetching onnxruntime-node@$(ORT_VERSION) (libonnxruntime.so.1, CPU) into $(ORT_DIR)"; \
	(cd "$$tmp" && npm pack --silent onnxruntime-node@$(ORT_VERSION) >/dev/null); \
	tar -xzf "$$tmp"/onnxruntime-node-$(ORT_VERSION).tgz -C "$$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1; \
	mkdir -p $(ORT_DIR); \
	mv "$$tmp"/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 $(ORT_LIB).tmp; \
	mv $(ORT_LIB).tmp $(ORT_LIB)

ffmpeg:
	@if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing ffmpeg from Debian's packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; \
	else \
		echo "ffmpeg is missing; install it with: sudo apt-get install -y ffmpeg"; exit 1; \
	fi

# nodynamic: WebP is always encoded by the libwebp built into the binary
# (WASM), never by a system libwebp.so that happens to be installed, so tile
# bytes do not depend on the host (github.com/gen2brain/webp build tag).
TAGS ?= nodynamic

build: ort
	$(GO) build -tags '$(TAGS)' -o bin/stylize ./cmd/stylize

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test: deps vet
	$(GO) test -tags '$(TAGS)' -count=1 -timeout 30m ./...

bench: deps
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchtime 3x ./...

# The main job: a picture, a short clip and a small tile pyramid, all with the
# built-in style, through the batch file configs/demo.yaml. Inputs are made
# locally (ffmpeg lavfi clip, tiles cut from the sample picture).
demo: deps build
	bin/stylize demo-inputs out/demo-inputs
	bin/stylize run configs/demo.yaml
	@echo "demo outputs are in $(CURDIR)/out/demo/: picture-ink.png, clip-ink.mp4, tiles-ink/ (XYZ z2-3), report.json"

clean:
	rm -rf bin out
