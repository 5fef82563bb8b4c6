#pragma once

#include <string>
#include <string_view>

namespace incident::web {

// GitHub-flavoured Markdown (tables, strikethrough, autolinks) to an HTML fragment.
// Raw HTML in the source is shown as text, never passed through (`<br>` becomes a line
// break), and unsafe link schemes are dropped, so chat text cannot inject markup.
std::string markdown_to_html(std::string_view markdown);

// "cmark-gfm 0.29.0.gfm.6", loading the library (opened on first use); throws
// std::runtime_error when it is not installed.
std::string cmark_library_version();

}  // namespace incident::web
