#!/usr/bin/env bash
# The steps of the allot GitHub Action (action.yml at the repository's root). Kept in a script,
# not inline in action.yml, so that tests/action.rs runs exactly this code on a local machine with
# a fake GitHub environment (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, a stand-in `gh`).
#
#   allot-action.sh key       print the cache key of this allot source (key=... to GITHUB_OUTPUT)
#   allot-action.sh install   build allot from this source into ALLOT_ROOT (default ~/.allot-action)
#   allot-action.sh run       fmt --check, check, test, then the preview and the diff if asked
#
# `run` reads the action's inputs from the environment (action.yml maps them):
#   POLICIES (space-separated files or folders), FMT, CHECK, TEST (true/false), MIN_COVERAGE,
#   DENY_WARNINGS, INVENTORY, INVENTORY_FORMAT, CURRENT, CURRENT_FORMAT, CURRENT_MARKETPLACE,
#   ALLOW_NEW, BASE_POLICIES, COMMENT, MAX_CHARS, OUT_DIR; and GitHub's GITHUB_EVENT_NAME,
#   GITHUB_REPOSITORY, PR_NUMBER, GH_TOKEN for the comments. ALLOT_BIN names the binary (tests).
# It runs every step even after one fails (so the pull request gets every annotation and comment),
# then exits 1 if any failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=$(cd "$here/.." && pwd)
allot=${ALLOT_BIN:-allot}
root=${ALLOT_ROOT:-$HOME/.allot-action}

out() { # name value: a step output (also echoed, for the log)
  echo "$1=$2"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$1=$2" >> "$GITHUB_OUTPUT"; fi
}

is_true() { [ "${1:-}" = true ]; }

case ${1:-} in
  key)
    # Whatever changes the binary: the sources, the grammar and the locked dependencies.
    hash=$(cd "$source_root" && find Cargo.toml Cargo.lock build.rs src grammar -type f 2> /dev/null \
      | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
    out key "allot-${RUNNER_OS:-local}-$(uname -m)-$hash"
    ;;
  install)
    if ! command -v cargo > /dev/null; then
      echo "::error title=allot::cargo is not installed: use a runner with the Rust toolchain (GitHub's ubuntu-latest has it) or add dtolnay/rust-toolchain before this action"
      exit 1
    fi
    cargo install --locked --path "$source_root" --root "$root" --bin allot
    ;;
  run)
    read -r -a policies <<< "${POLICIES:-policies}"
    if [ ${#policies[@]} -eq 0 ]; then
      echo "::error title=allot::the input 'policies' is empty: give the policy files or folders, e.g. policies"
      exit 1
    fi
    out_dir=${OUT_DIR:-.}
    mkdir -p "$out_dir"
    failed=()
    deny=()
    if is_true "${DENY_WARNINGS:-false}"; then deny=(--deny-warnings); fi

    if is_true "${FMT:-true}"; then
      echo "::group::allot fmt --check"
      "$allot" fmt --check "${policies[@]}" || failed+=("fmt --check")
      echo "::endgroup::"
    fi
    if is_true "${CHECK:-true}"; then
      # GitHub turns the workflow commands on stdout into annotations on the diff.
      "$allot" check --format github "${deny[@]}" "${policies[@]}" || failed+=(check)
    fi
    if is_true "${TEST:-true}"; then
      cover=(--coverage)
      if [ -n "${MIN_COVERAGE:-}" ]; then cover=(--min-coverage "$MIN_COVERAGE"); fi
      report="$out_dir/allot-test-results.xml"
      "$allot" test --format junit "${cover[@]}" "${policies[@]}" > "$report" || failed+=(test)
      out test-report "$report"
    fi

    # The inputs of the preview and of the diff: the same inventory and current listings.
    inputs=()
    if [ -n "${INVENTORY:-}" ]; then
      read -r -a inventories <<< "$INVENTORY"
      for f in "${inventories[@]}"; do inputs+=(--inventory "$f"); done
      if [ -n "${INVENTORY_FORMAT:-}" ]; then inputs+=(--inventory-format "$INVENTORY_FORMAT"); fi
      if [ -n "${CURRENT:-}" ]; then inputs+=(--current "$CURRENT"); fi
      if [ -n "${CURRENT_FORMAT:-}" ]; then inputs+=(--current-format "$CURRENT_FORMAT"); fi
      if [ -n "${CURRENT_MARKETPLACE:-}" ]; then inputs+=(--current-marketplace "$CURRENT_MARKETPLACE"); fi
      if is_true "${ALLOW_NEW:-false}"; then inputs+=(--allow-new); fi
    elif [ -n "${BASE_POLICIES:-}" ]; then
      echo "::error title=allot::the input 'base-policies' needs 'inventory': allot diff compares both sides on one inventory"
      failed+=(diff)
    fi
    comments=()
    max=(--max-chars "${MAX_CHARS:-60000}")
    if [ ${#inputs[@]} -gt 0 ]; then
      # --detailed-exitcode: 0 no changes, 2 changes (not a failure), 1 an error.
      preview="$out_dir/allot-preview.md"
      "$allot" plan "${policies[@]}" "${inputs[@]}" "${deny[@]}" --format markdown "${max[@]}" \
        --detailed-exitcode > "$preview"
      case $? in
        0) out changes false ;;
        2) out changes true ;;
        *) failed+=(plan); out changes unknown ;;
      esac
      out preview "$preview"
      if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$preview" ]; then cat "$preview" >> "$GITHUB_STEP_SUMMARY"; fi
      comments+=("preview:$preview")
      if [ -n "${BASE_POLICIES:-}" ]; then
        if [ ${#policies[@]} -ne 1 ]; then
          echo "::error title=allot::allot diff compares one path per side: give 'policies' as one file or folder (it has ${#policies[@]})"
          failed+=(diff)
        else
          diff="$out_dir/allot-diff.md"
          "$allot" diff "$BASE_POLICIES" "${policies[0]}" "${inputs[@]}" "${deny[@]}" \
            --format markdown "${max[@]}" --detailed-exitcode > "$diff"
          case $? in
            0) out differences false ;;
            2) out differences true ;;
            *) failed+=(diff); out differences unknown ;;
          esac
          out diff "$diff"
          if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$diff" ]; then cat "$diff" >> "$GITHUB_STEP_SUMMARY"; fi
          comments+=("diff:$diff")
        fi
      fi
    fi

    # One sticky comment per kind on the pull request: found by its marker and edited, so a
    # pull request pushed ten times has one preview, not ten.
    if is_true "${COMMENT:-true}" && [ -n "${PR_NUMBER:-}" ] && [ ${#comments[@]} -gt 0 ]; then
      case ${GITHUB_EVENT_NAME:-} in
        pull_request | pull_request_target)
          repo=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}
          for c in "${comments[@]}"; do
            kind=${c%%:*}
            file=${c#*:}
            marker="<!-- allot:$kind -->"
            [ -s "$file" ] || continue
            body="$out_dir/allot-$kind-comment.md"
            { echo "$marker"; cat "$file"; } > "$body"
            id=$(gh api "repos/$repo/issues/$PR_NUMBER/comments" --paginate \
              --jq ".[] | select(.body | startswith(\"$marker\")) | .id") || id=""
            id=${id%%$'\n'*}
            if [ -n "$id" ]; then
              gh api --method PATCH "repos/$repo/issues/comments/$id" -F "body=@$body" > /dev/null \
                || failed+=("comment $kind")
            else
              gh api --method POST "repos/$repo/issues/$PR_NUMBER/comments" -F "body=@$body" > /dev/null \
                || failed+=("comment $kind")
            fi
          done
          ;;
        *) echo "not a pull request (${GITHUB_EVENT_NAME:-no event}): no comment posted" ;;
      esac
    fi

    if [ ${#failed[@]} -gt 0 ]; then
      echo "allot: failed: ${failed[*]}" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: allot-action.sh key|install|run" >&2
    exit 2
    ;;
esac
