# Sourced by tests/cli/run.sh: validate reads the transform files too, and reports each
# use of a name the Lua sandbox does not have with its place and a caret.
mkdir -p "$tmp/lua/transforms"
ln -s "$PWD/lua/prelude" "$tmp/lua/prelude"
cp $fx/sandbox-names/evil.lua "$tmp/lua/transforms/"
t=$tmp/lua/transforms/evil.lua
m="is not available in the Lua sandbox (expressions and transforms have no os, io, debug, require, load or dofile)"
expect "validate reports os, io, require and debug in a transform file" 2 "$t:5:10: error: 'os.execute' $m
    5 |   return os.execute(cmd)
      |          ^~~~~~~~~~
$t:9:13: error: 'io.open' $m
    9 |   local f = io.open(path)
      |             ^~~~~~~
$t:11:10: error: 'require' $m
   11 |   return require(\"json\").decode(f:read(\"a\")), debug.traceback()
      |          ^~~~~~~
$t:11:47: error: 'debug.traceback' $m
   11 |   return require(\"json\").decode(f:read(\"a\")), debug.traceback()
      |                                               ^~~~~~~~~~~~~~~
4 errors, 0 warnings in 1 file (org staging)" \
    -- env SCENARIST_LUA_DIR="$tmp/lua" "$bin" validate "$fx/valid"
