#!/bin/sh
# PLACEHOLDER bundle: synthesised only when a function's publish folder is absent (tests, offline lint).
# Never deploy it: run tools/publish-functions.sh first, then cdk synth/deploy without -c allowPlaceholderCode=true.
echo "molly: placeholder code deployed; run tools/publish-functions.sh and redeploy" >&2
exit 1
