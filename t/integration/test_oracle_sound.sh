# The oracle itself: two plain builds of std with fresh caches produce the
# same set of GOCACHE "-d" names (so equal sets are a meaningful check),
# and a one-byte change in one source file does change the set (so the
# check can fail). Needs neither the shim nor the daemon.
need_go

ref=$(plain_reference std-a build -x -a std)
must_go plain std-a-again build -x -a std
n1=$(count_tool "$ref" compile)
n2=$(count_tool std-a-again compile)
note "compiles: $n1 and $n2"
((n1 > 100)) || fail "plain 'go build -a std' ran only $n1 compiles (is -x output parsed correctly?)"
((n1 == n2)) || fail "two plain builds of std ran $n1 and $n2 compiles"
assert_same_cache "$ref" std-a-again
drop_cache std-a-again

# Negative control on the test module: change one constant.
mod=$(copy_testmod)
cd "$mod"
must_go plain mod-a build -x -o "$T_DIR/app-a" ./cmd/app
must_go plain mod-b build -x -o "$T_DIR/app-b" ./cmd/app
assert_same_cache mod-a mod-b
assert_same_file "$T_DIR/app-a" "$T_DIR/app-b"
sed -i 's/^const scale = 3$/const scale = 4/' asmpkg/asmpkg.go
grep -q '^const scale = 4$' asmpkg/asmpkg.go || fail "could not edit asmpkg/asmpkg.go"
must_go plain mod-c build -x -o "$T_DIR/app-c" ./cmd/app
if (assert_same_cache mod-a mod-c) >"$T_DIR/negative.log" 2>&1; then
	fail "oracle is blind: changing a constant in asmpkg left the GOCACHE -d set unchanged"
fi
rm -f "$T_DIR/.reason"
grep -q 'compile -p example.com/testmod/asmpkg' "$T_DIR/negative.log" ||
	{ cat "$T_DIR/negative.log"; fail "oracle saw a difference but did not attribute it to asmpkg"; }
if cmp -s "$T_DIR/app-a" "$T_DIR/app-c"; then
	fail "binaries built from different sources are identical"
fi
note "negative control: differences detected as expected"
