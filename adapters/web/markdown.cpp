#include "adapters/web/markdown.hpp"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm-extension_api.h>
#include <cmark-gfm.h>

#include "bot/text.hpp"

namespace incident::web {

namespace {

struct ParserDeleter {
    void operator()(cmark_parser* p) const { cmark_parser_free(p); }
};
struct NodeDeleter {
    void operator()(cmark_node* n) const { cmark_node_free(n); }
};

bool is_line_break_tag(std::string_view html) {
    const std::string tag = to_lower(trim(html));
    return tag == "<br>" || tag == "<br/>" || tag == "<br />";
}

cmark_node* text_node(std::string_view literal) {
    cmark_node* text = cmark_node_new(CMARK_NODE_TEXT);
    cmark_node_set_literal(text, std::string(literal).c_str());
    return text;
}

// The post-mortem puts `<br>` in table cells for multi-line chat text; anything else that
// parses as HTML came from a person and is turned back into the text they typed.
void neutralise_html(cmark_node* root) {
    std::vector<cmark_node*> html_nodes;
    cmark_iter* iter = cmark_iter_new(root);
    while (cmark_iter_next(iter) != CMARK_EVENT_DONE) {
        cmark_node* node = cmark_iter_get_node(iter);
        const auto type = cmark_node_get_type(node);
        if (type == CMARK_NODE_HTML_INLINE || type == CMARK_NODE_HTML_BLOCK) {
            html_nodes.push_back(node);
        }
    }
    cmark_iter_free(iter);
    for (cmark_node* node : html_nodes) {
        const char* raw = cmark_node_get_literal(node);
        std::string_view literal = raw ? raw : "";
        cmark_node* replacement = nullptr;
        if (cmark_node_get_type(node) == CMARK_NODE_HTML_INLINE) {
            if (is_line_break_tag(literal)) {
                cmark_node* line_break = cmark_node_new(CMARK_NODE_LINEBREAK);
                if (cmark_node_insert_before(node, line_break)) {
                    cmark_node_free(node);
                    continue;
                }
                // Table cells cannot hold a line break node; a newline shown by the
                // stylesheet's `white-space: pre-line` does the same.
                cmark_node_free(line_break);
                replacement = text_node("\n");
            } else {
                replacement = text_node(literal);
            }
        } else {
            while (!literal.empty() && (literal.back() == '\n' || literal.back() == '\r')) {
                literal.remove_suffix(1);
            }
            replacement = cmark_node_new(CMARK_NODE_PARAGRAPH);
            cmark_node_append_child(replacement, text_node(literal));
        }
        if (cmark_node_insert_before(node, replacement)) {
            cmark_node_free(node);  // also unlinks it
        } else {
            cmark_node_free(replacement);  // left in place: safe rendering omits it
        }
    }
}

}  // namespace

std::string markdown_to_html(std::string_view markdown) {
    static std::once_flag registered;
    std::call_once(registered, [] { cmark_gfm_core_extensions_ensure_registered(); });

    // CMARK_OPT_SAFE is the default in cmark-gfm; it is spelled out so nobody drops it.
    const int options =
        CMARK_OPT_SAFE | CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE;
    std::unique_ptr<cmark_parser, ParserDeleter> parser(cmark_parser_new(options));
    if (!parser) throw std::runtime_error("cmark: out of memory");
    for (const char* name : {"table", "strikethrough", "autolink"}) {
        if (cmark_syntax_extension* ext = cmark_find_syntax_extension(name)) {
            cmark_parser_attach_syntax_extension(parser.get(), ext);
        }
    }
    cmark_parser_feed(parser.get(), markdown.data(), markdown.size());
    std::unique_ptr<cmark_node, NodeDeleter> document(cmark_parser_finish(parser.get()));
    if (!document) throw std::runtime_error("cmark: could not parse the Markdown");
    neutralise_html(document.get());

    char* html = cmark_render_html(document.get(), options,
                                   cmark_parser_get_syntax_extensions(parser.get()));
    if (!html) throw std::runtime_error("cmark: could not render HTML");
    std::string out(html);
    cmark_get_default_mem_allocator()->free(html);
    return out;
}

}  // namespace incident::web
