# Writes a C file that holds a file's bytes, for documents the binary serves
# (api/openapi.json). Run at build time by CMakeLists.txt:
#   cmake -DIN=FILE -DOUT=FILE.c -DNAME=symbol -P api/embed.cmake
# The C file defines `const unsigned char NAME[]` (the bytes plus a NUL, so it
# is also a C string) and `const size_t NAME_len` (without the NUL).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# a line break every 32 bytes keeps the file readable to tools
string(REGEX REPLACE "((0x..,){32})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}.tmp"
  "/* Generated from ${IN} by api/embed.cmake at build time: do not edit. */\n"
  "#include <stddef.h>\n"
  "extern const unsigned char ${NAME}[];\n"
  "extern const size_t ${NAME}_len;\n"
  "const unsigned char ${NAME}[] = {\n${bytes}0x00};\n"
  "const size_t ${NAME}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
