#!/usr/bin/env bash
# The curated image pipeline, as a plain script: for every image recipe (or those named),
#   1. generate its build context (the stack resolved for the recipe's base image),
#   2. check the lock (`advisor check`: fresh, hashed, no known advisory),
#   3. build the image (`advisor image build`, which records the outcome in the knowledge store),
#   4. publish: the image as an OCI archive with its image.json beside it, in OUT/publish/NAME/,
#      and, when PUSH_TO is set, the image pushed to PUSH_TO/NAME:TAG by `advisor image push`
#      (which records the manifest digest in image.json and the knowledge store).
#
# Usage: build-images.sh [OUT]            (OUT defaults to ./images-out)
#
# Settings, all optional, from the environment:
#   ADVISOR          the advisor command                      (default: advisor)
#   RECIPES          recipe names, space-separated            (default: every recipe)
#   KNOWLEDGE_DIR    knowledge folder with images/*.toml      (default: the bundled one)
#   REQUIREMENTS     a requirements file for every image      (default: each recipe's own)
#   RECOMMENDATION   latest, stable, performance, security    (default: stable)
#   GENERATE_ARGS    extra words for `advisor image generate` (e.g. "-i URL")
#   CHECK_ARGS       extra words for `advisor check`          (e.g. "--osv DUMP")
#   BUILD_TOOL       buildah, podman or docker                (default: the first that works)
#   BUILD_ARGS       KEY=VALUE words passed as --build-arg    (e.g. "BASE_IMAGE=a-mirror/base:1")
#   PUSH_TO          a registry prefix to push to             (default: no push)
#   PUSH_ARGS        extra words for `advisor image push`     (e.g. "--no-tls-verify")
# The knowledge store is ADVISOR_KNOWLEDGE's, as for every advisor command.
#
# Exit status: 0 when every recipe was checked, built (and pushed), else 1 after trying them
# all; the summary names each recipe's outcome, and is printed whatever happened.
set -euo pipefail

OUT=${1:-images-out}
ADVISOR=${ADVISOR:-advisor}
RECOMMENDATION=${RECOMMENDATION:-stable}
read -r -a generate_args <<<"${GENERATE_ARGS:-}"
read -r -a check_args <<<"${CHECK_ARGS:-}"
read -r -a build_words <<<"${BUILD_ARGS:-}"
read -r -a push_args <<<"${PUSH_ARGS:-}"

knowledge_args=()
if [[ -n ${KNOWLEDGE_DIR:-} ]]; then
  knowledge_args=(--knowledge-dir "$KNOWLEDGE_DIR")
fi
build_args=()
for word in "${build_words[@]}"; do
  build_args+=(--build-arg "$word")
done
tool_args=()
if [[ -n ${BUILD_TOOL:-} ]]; then
  tool_args=(--tool "$BUILD_TOOL")
fi
inputs=()
if [[ -n ${REQUIREMENTS:-} ]]; then
  inputs=("$REQUIREMENTS")
fi

if [[ -n ${RECIPES:-} ]]; then
  read -r -a recipes <<<"$RECIPES"
else
  mapfile -t recipes < <(
    "$ADVISOR" image list --json "${knowledge_args[@]}" |
      python3 -c 'import json, sys; print("\n".join(r["name"] for r in json.load(sys.stdin)))'
  )
fi

# Save a built image as an OCI archive with whichever tool built it.
save_image() {
  local tool=$1 tag=$2 archive=$3
  case $tool in
    buildah) buildah push --quiet "$tag" "oci-archive:$archive" ;;
    podman) podman save --quiet --format oci-archive --output "$archive" "$tag" ;;
    docker) docker save --output "$archive" "$tag" ;;
  esac
}

mkdir -p "$OUT"
failed=0
summary=()
for name in "${recipes[@]}"; do
  context="$OUT/$name"
  echo "== $name: generate"
  if ! "$ADVISOR" image generate --recipe "$name" "${inputs[@]}" -o "$context" \
    --recommendation "$RECOMMENDATION" "${knowledge_args[@]}" "${generate_args[@]}"; then
    summary+=("$name: generate failed")
    failed=1
    continue
  fi
  echo "== $name: check"
  if ! "$ADVISOR" check "$context/pylock.toml" "${check_args[@]}"; then
    summary+=("$name: check failed")
    failed=1
    continue
  fi
  echo "== $name: build"
  if ! "$ADVISOR" image build "$context" "${tool_args[@]}" "${build_args[@]}" --json \
    >"$context/build.json"; then
    summary+=("$name: build failed (see the log above; recorded in the knowledge store)")
    failed=1
    continue
  fi
  read -r tool tag < <(
    python3 -c 'import json, sys; b = json.load(open(sys.argv[1])); print(b["tool"], b["tag"])' \
      "$context/build.json"
  )
  publish="$OUT/publish/$name"
  mkdir -p "$publish"
  rm -f "$publish/image.oci.tar" "$publish/pushed"
  echo "$tag" >"$publish/tag"
  if ! save_image "$tool" "$tag" "$publish/image.oci.tar"; then
    summary+=("$name: built $tag with $tool, but saving the OCI archive failed")
    failed=1
    continue
  fi
  if [[ -n ${PUSH_TO:-} ]]; then
    echo "== $name: push"
    if ! "$ADVISOR" image push "$context" "${PUSH_TO%/}/$name" "${push_args[@]}" --json \
      >"$context/push.json"; then
      cp "$context/image.json" "$publish/image.json"
      summary+=("$name: built $tag with $tool, push to ${PUSH_TO%/}/$name failed (see above)")
      failed=1
      continue
    fi
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["reference"])' \
      "$context/push.json" >"$publish/pushed"
    cp "$context/image.json" "$publish/image.json"
    summary+=("$name: built $tag with $tool -> $publish, pushed $(cat "$publish/pushed")")
    continue
  fi
  cp "$context/image.json" "$publish/image.json"
  summary+=("$name: built $tag with $tool -> $publish")
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
