#pragma once
// Turns `verify:` into the signature gate's policy (trust/policy.hpp): the
// globs parsed, the cosign keys and the notation trust store read.
#include "regcache/config/config.hpp"
#include "regcache/trust/policy.hpp"

namespace regcache::app {

// Throws config::config_error naming the key (verify[0].cosign_keys[1],
// verify[1].notation_trust_store) when a file cannot be read or holds no
// usable public key. Logs each rule that checks something.
[[nodiscard]] trust::signature_policy signature_policy_of(const config::config& cfg);

}  // namespace regcache::app
