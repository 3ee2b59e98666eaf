# Writes a C++ header that holds a file's bytes, so the web playground is compiled into senti (no files to
# install, nothing fetched at run time). Run as a script:
#   cmake -DINPUT=index.html -DOUTPUT=ui_page.h -DSYMBOL=kPlaygroundHtml -P embed_file.cmake
# The header defines `inline constexpr std::string_view SYMBOL` in namespace senti::serving::ui.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
# Two hex digits per byte → "'\xNN'," ... ; 32 bytes a line keeps the header readable in a diff tool.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
string(REGEX REPLACE "(('\\\\x[0-9a-f][0-9a-f]',){32})" "\\1\n    " bytes "${bytes}")
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${name} by embed_file.cmake: do not edit.\n"
"#pragma once\n\n#include <string_view>\n\n"
"namespace senti::serving::ui {\n\n"
"inline constexpr char ${SYMBOL}Bytes[] = {\n    ${bytes}'\\0'};\n"
"inline constexpr std::string_view ${SYMBOL}{${SYMBOL}Bytes, ${size}};\n\n"
"}  // namespace senti::serving::ui\n")
# Touch the header only when its content changed (no needless rebuilds).
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
