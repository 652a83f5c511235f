# sealdrop_embed(<out.cc> ROOT <dir> NAMESPACE <ns> SYMBOL <name> FILES <relative paths>...)
# Generates <out.cc> from the files with cmake/embed.cmake, again whenever one
# of them changes.
function(sealdrop_embed out)
  cmake_parse_arguments(E "" "ROOT;NAMESPACE;SYMBOL" "FILES" ${ARGN})
  list(TRANSFORM E_FILES PREPEND ${E_ROOT}/ OUTPUT_VARIABLE paths)
  list(JOIN E_FILES "|" arg)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DROOT=${E_ROOT} -DFILES=${arg} -DNAMESPACE=${E_NAMESPACE}
            -DSYMBOL=${E_SYMBOL} -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${paths} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding ${E_SYMBOL}" VERBATIM)
endfunction()
