// Chat templates: the model's own Jinja template from its GGUF file, rendered by llama.cpp's common library,
// so that difr tokenises a conversation exactly as llama-server would.
#include <llama.h>

#include "difr/error.h"
#include "difr/model.h"
#include "engine_internal.h"

namespace difr {

std::unique_ptr<ChatTemplates> chat_templates_init(const llama_model *model) {
    auto t = std::make_unique<ChatTemplates>();
    t->templates = common_chat_templates_init(model, /*chat_template_override=*/"");
    return t;
}

std::string Model::chat_render(const std::vector<ChatMessage> &messages, bool add_generation_prompt) const {
    common_chat_templates_inputs in;
    for (const ChatMessage &m : messages) {
        common_chat_msg msg;
        msg.role = m.role;
        msg.content = m.content;
        in.messages.push_back(std::move(msg));
    }
    in.add_generation_prompt = add_generation_prompt;
    in.use_jinja = true;
    try {
        return common_chat_templates_apply(chat_->templates.get(), in).prompt;
    } catch (const std::exception &e) {
        throw InputError(std::string("the chat template of '") + path_ + "' failed to render: " + e.what());
    }
}

std::vector<int32_t> Model::chat_tokenize(const std::vector<ChatMessage> &messages) const {
    // The rendered template carries its own special tokens (BOS where the template writes it).
    return tokenize(chat_render(messages, true), /*add_special=*/false, /*parse_special=*/true);
}

}  // namespace difr
