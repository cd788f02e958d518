#!/usr/bin/env bash
# Builds ffrtmp (release, static Swift runtime) and runs a governed FFmpeg test transcode
# in a private state dir: 150% CPU, 512 MiB memory. Then shows `ffrtmp ps`. Only the products
# it runs are built (ffrtmp and the C shim): no master, no agent, so no NIO or BoringSSL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
swift build -c release --static-swift-stdlib --product ffrtmp
scripts/build-shim.sh
bin=.build/release
state=${FFRTMP_STATE_DIR:-$(mktemp -d /tmp/ffrtmp-demo-XXXXXX)}
export FFRTMP_STATE_DIR=$state
"$bin/ffrtmp" run --cpu-percent 150 --memory-max-mb 512 --json -- \
  ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc=size=1280x720:rate=30 -t 5 \
  -c:v libx264 -preset veryfast -f null -
"$bin/ffrtmp" ps
echo "state dir: $state (jobs/<id>/ holds spec, logs and exit record)"
