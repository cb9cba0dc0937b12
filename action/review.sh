#!/usr/bin/env bash
# The review step of the dslc GitHub Action (action.yml; docs/github.md). Runs from the repository root.
#
# Environment:
#   DSLC_SPECS       spec files or globs (`**` allowed), separated by spaces
#   DSLC_CHECK_ARGS  extra flags for `dslc check`
#   DSLC_BASE        the commit to diff against (a pull request's base); empty: check only
#   DSLC_COMMENT     "true": post the diff on pull request DSLC_PR (needs `gh` and GH_TOKEN)
#   DSLC_PR          the pull request's number
#   GITHUB_REPOSITORY, GITHUB_STEP_SUMMARY  set by the runner
#
# Exit status: that of `dslc check` (0 clean, 1 a gate failed, 2 an invalid spec). The diff goes to the job
# summary too, so it is readable where the token may not comment (pull requests from forks).
set -uo pipefail
shopt -s globstar nullglob

MARKER="<!-- dslc-review -->"  # finds this action's own comment again, among other bots' comments

read -r -a patterns <<< "${DSLC_SPECS:-}"
specs=()
for pattern in "${patterns[@]}"; do
  # shellcheck disable=SC2206  # the glob is meant to expand here
  matches=($pattern)
  specs+=("${matches[@]}")
done
if [ "${#specs[@]}" -eq 0 ]; then
  echo "::error title=dslc::no spec file matches '${DSLC_SPECS:-}' (input 'specs')"
  exit 2
fi

read -r -a check_args <<< "${DSLC_CHECK_ARGS:-}"
dslc check --format github "${check_args[@]}" "${specs[@]}"
check_status=$?

if [ -z "${DSLC_BASE:-}" ]; then
  exit "$check_status"
fi

body=$(mktemp)
changed=0
{
  echo "$MARKER"
  echo "### dslc: what this pull request changes in its specs"
} > "$body"
for spec in "${specs[@]}"; do
  if ! git cat-file -e "$DSLC_BASE:./$spec" 2>/dev/null; then
    printf '\n`%s`: a new spec.\n' "$spec" >> "$body"
    changed=$((changed + 1))
  elif ! git diff --quiet "$DSLC_BASE" -- "$spec"; then
    printf '\n#### `%s`\n\n' "$spec" >> "$body"
    if dslc diff --git "$DSLC_BASE" "$spec" --format markdown > "$body.spec" 2> /dev/null; then
      cat "$body.spec" >> "$body"
    else  # the errors are the check's annotations already
      echo "The two versions cannot be compared: one is invalid (see the check's annotations)." >> "$body"
    fi
    changed=$((changed + 1))
  fi
done

if [ "$changed" -eq 0 ]; then
  echo "dslc: no spec changed against $DSLC_BASE"
  exit "$check_status"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$body" >> "$GITHUB_STEP_SUMMARY"
fi
if [ "${DSLC_COMMENT:-true}" = "true" ] && [ -n "${DSLC_PR:-}" ]; then
  # One comment per pull request, edited on each push rather than a new one each time.
  existing=$(gh api "repos/$GITHUB_REPOSITORY/issues/$DSLC_PR/comments" --paginate \
               --jq ".[] | select(.body | startswith(\"$MARKER\")) | .id" | tail -n 1)
  if [ -n "$existing" ]; then
    gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$existing" -F "body=@$body" > /dev/null \
      || echo "::warning title=dslc::could not update the review comment (token permissions?)"
  else
    gh pr comment "$DSLC_PR" --body-file "$body" \
      || echo "::warning title=dslc::could not post the review comment (token permissions?)"
  fi
fi
exit "$check_status"
