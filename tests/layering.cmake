# The layers of README.md's "Architecture", checked on every include line:
#   bot/ (outside bot/app/) is the domain: no Asio, Beast, SQL, libcurl, logging library or
#   platform header, and nothing of the folders around it;
#   commands/ sees only the domain; storage/ never sees adapters/ or commands/;
#   adapters/ never include bot/app/ (tests may: they run the runtime).
# Run as: cmake -DROOT=<source dir> -P layering.cmake
set(rules
  "bot|^bot/app/|boost/|sqlite|SQLiteCpp|curl/|libpq|spdlog/|cmark|adapters/|storage/|commands/"
  "commands|^$|boost/|sqlite|SQLiteCpp|curl/|libpq|adapters/|storage/"
  "storage|^$|adapters/|commands/|boost/"
  "adapters|^$|bot/app/")
set(broken "")
foreach(rule IN LISTS rules)
  string(REPLACE "|" ";" parts "${rule}")
  list(POP_FRONT parts folder skip)
  list(JOIN parts "|" forbidden)
  file(GLOB_RECURSE sources RELATIVE "${ROOT}" "${ROOT}/${folder}/*.cpp" "${ROOT}/${folder}/*.hpp")
  foreach(source IN LISTS sources)
    if(NOT skip STREQUAL "^$" AND source MATCHES "${skip}")
      continue()
    endif()
    if(source MATCHES "^tests/protocol/")
      continue()
    endif()
    file(STRINGS "${ROOT}/${source}" includes REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS includes)
      if(line MATCHES "[<\"](${forbidden})")
        string(APPEND broken "\n  ${source}: ${line}")
      endif()
    endforeach()
  endforeach()
endforeach()
if(broken)
  message(FATAL_ERROR "includes that cross the layers (README.md, Architecture):${broken}")
endif()
message(STATUS "every include keeps to its layer")
