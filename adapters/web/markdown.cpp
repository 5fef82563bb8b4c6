#include "adapters/web/markdown.hpp"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm-extension_api.h>
#include <cmark-gfm.h>

#include "bot/shared_library.hpp"
#include "bot/text.hpp"

namespace incident::web {

namespace {

// cmark-gfm, opened with the first Markdown rendered (bot/shared_library.hpp), not at start.
struct Cmark {
    SharedLibrary library{"libcmark-gfm.so.0.29.0.gfm.6"};
    SharedLibrary extensions{"libcmark-gfm-extensions.so.0.29.0.gfm.6"};
    INCIDENT_LIBRARY_FUNCTION(extensions, cmark_gfm_core_extensions_ensure_registered);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_find_syntax_extension);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_get_default_mem_allocator);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_iter_free);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_iter_get_node);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_iter_new);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_iter_next);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_node_append_child);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_node_free);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_node_get_literal);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_node_get_type);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_node_insert_before);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_node_new);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_node_set_literal);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_parser_attach_syntax_extension);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_parser_feed);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_parser_finish);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_parser_free);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_parser_get_syntax_extensions);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_parser_new);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_render_html);
    INCIDENT_LIBRARY_FUNCTION(library, cmark_version_string);
};

// Loaded once; a failure throws, and the next call tries again.
const Cmark& cmark() {
    static const Cmark loaded;
    return loaded;
}

struct ParserDeleter {
    void operator()(cmark_parser* p) const { cmark().cmark_parser_free(p); }
};
struct NodeDeleter {
    void operator()(cmark_node* n) const { cmark().cmark_node_free(n); }
};

bool is_line_break_tag(std::string_view html) {
    const std::string tag = to_lower(trim(html));
    return tag == "<br>" || tag == "<br/>" || tag == "<br />";
}

cmark_node* text_node(std::string_view literal) {
    cmark_node* text = cmark().cmark_node_new(CMARK_NODE_TEXT);
    cmark().cmark_node_set_literal(text, std::string(literal).c_str());
    return text;
}

// The post-mortem puts `<br>` in table cells for multi-line chat text; anything else that
// parses as HTML came from a person and is turned back into the text they typed.
void neutralise_html(cmark_node* root) {
    std::vector<cmark_node*> html_nodes;
    cmark_iter* iter = cmark().cmark_iter_new(root);
    while (cmark().cmark_iter_next(iter) != CMARK_EVENT_DONE) {
        cmark_node* node = cmark().cmark_iter_get_node(iter);
        const auto type = cmark().cmark_node_get_type(node);
        if (type == CMARK_NODE_HTML_INLINE || type == CMARK_NODE_HTML_BLOCK) {
            html_nodes.push_back(node);
        }
    }
    cmark().cmark_iter_free(iter);
    for (cmark_node* node : html_nodes) {
        const char* raw = cmark().cmark_node_get_literal(node);
        std::string_view literal = raw ? raw : "";
        cmark_node* replacement = nullptr;
        if (cmark().cmark_node_get_type(node) == CMARK_NODE_HTML_INLINE) {
            if (is_line_break_tag(literal)) {
                cmark_node* line_break = cmark().cmark_node_new(CMARK_NODE_LINEBREAK);
                if (cmark().cmark_node_insert_before(node, line_break)) {
                    cmark().cmark_node_free(node);
                    continue;
                }
                // Table cells cannot hold a line break node; a newline shown by the
                // stylesheet's `white-space: pre-line` does the same.
                cmark().cmark_node_free(line_break);
                replacement = text_node("\n");
            } else {
                replacement = text_node(literal);
            }
        } else {
            while (!literal.empty() && (literal.back() == '\n' || literal.back() == '\r')) {
                literal.remove_suffix(1);
            }
            replacement = cmark().cmark_node_new(CMARK_NODE_PARAGRAPH);
            cmark().cmark_node_append_child(replacement, text_node(literal));
        }
        if (cmark().cmark_node_insert_before(node, replacement)) {
            cmark().cmark_node_free(node);  // also unlinks it
        } else {
            cmark().cmark_node_free(replacement);  // left in place: safe rendering omits it
        }
    }
}

}  // namespace

std::string markdown_to_html(std::string_view markdown) {
    static std::once_flag registered;
    std::call_once(registered, [] { cmark().cmark_gfm_core_extensions_ensure_registered(); });

    // CMARK_OPT_SAFE is the default in cmark-gfm; it is spelled out so nobody drops it.
    const int options =
        CMARK_OPT_SAFE | CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE;
    std::unique_ptr<cmark_parser, ParserDeleter> parser(cmark().cmark_parser_new(options));
    if (!parser) throw std::runtime_error("cmark: out of memory");
    for (const char* name : {"table", "strikethrough", "autolink"}) {
        if (cmark_syntax_extension* ext = cmark().cmark_find_syntax_extension(name)) {
            cmark().cmark_parser_attach_syntax_extension(parser.get(), ext);
        }
    }
    cmark().cmark_parser_feed(parser.get(), markdown.data(), markdown.size());
    std::unique_ptr<cmark_node, NodeDeleter> document(cmark().cmark_parser_finish(parser.get()));
    if (!document) throw std::runtime_error("cmark: could not parse the Markdown");
    neutralise_html(document.get());

    char* html = cmark().cmark_render_html(
        document.get(), options, cmark().cmark_parser_get_syntax_extensions(parser.get()));
    if (!html) throw std::runtime_error("cmark: could not render HTML");
    std::string out(html);
    cmark().cmark_get_default_mem_allocator()->free(html);
    return out;
}

std::string cmark_library_version() {
    return std::string("cmark-gfm ") + cmark().cmark_version_string();
}

}  // namespace incident::web
