# Shared by tests/suites/width.sh and windows.sh (source it): width_coverage OUTPUT checks that the
# "covered: NAME" lines that tests/c/width_test.c printed name exactly the functions that
# include/imapmail.h declares as returning intptr_t.
width_coverage() {
    local declared covered
    declared=$(grep -oE '^intptr_t email_[a-z0-9_]+\(' include/imapmail.h | sed 's/^intptr_t //; s/($//' | sort -u)
    covered=$(sed -n 's/^covered: //p' "$1" | tr -d '\r' | sort -u)
    [ -n "$declared" ] || { echo "width_coverage: no intptr_t function in include/imapmail.h" >&2; return 1; }
    if [ "$declared" != "$covered" ]; then
        echo "width_coverage: declared (<) vs covered (>):" >&2
        diff <(echo "$declared") <(echo "$covered") >&2 || true
        return 1
    fi
}
