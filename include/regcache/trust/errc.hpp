#pragma once
// Why the signature gate refuses a manifest or a blob (signature_gate.hpp).
// Each value says what a client is told (registry::status_of): the digest
// goes with it in the message.
#include "regcache/core/result.hpp"

#include <type_traits>

namespace regcache::trust {

enum class errc {
  not_signed = 1,            // no signature found: no sha256-<hex>.sig tag, no signature referrer
  signature_invalid,         // signatures found, no configured key verifies any of them
  signature_other_digest,    // a key verifies it, but the payload names another manifest
  signature_other_repository,  // a key verifies it, but the payload names another repository (check_identity)
  signature_malformed,       // the signature artifact cannot be read (not Base64, payload not JSON)
  signatures_unavailable,    // the signatures could not be fetched and none is cached; try again
  blob_not_verified,         // a blob no manifest that passed the gate references
  signature_untrusted,       // notation: the certificate chain does not lead to the trust store, or is not valid now
  signature_unsupported,     // notation: an envelope or scheme not verified here (COSE, signing authority, plugin)
};

const boost::system::error_category& trust_category() noexcept;
inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), trust_category()}; }

}  // namespace regcache::trust

template <>
struct boost::system::is_error_code_enum<regcache::trust::errc> : std::true_type {};
