# Embeds a text file in the binary as a std::string_view (the console's page, src/serve/ui/):
#   cmake -DINPUT=<file> -DOUTPUT=<.cc> -DNAME=<constant> -DHEADER=<include> -P cmake/embed_text.cmake
# The file goes in a raw string literal whole; a file containing its delimiter is refused.
file(READ "${INPUT}" content)
string(FIND "${content}" ")nudge_embed" found)
if(NOT found EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains ')nudge_embed', the raw string delimiter of cmake/embed_text.cmake")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/embed_text.cmake: edit the source, not this file.\n"
  "#include \"${HEADER}\"\n\nnamespace nudge::serve {\n\n"
  "const std::string_view ${NAME} = R\"nudge_embed(${content})nudge_embed\";\n\n}  // namespace nudge::serve\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
