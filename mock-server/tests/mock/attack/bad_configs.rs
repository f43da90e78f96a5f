//! Every way a config or rule comes in (`PUT /config`, `POST /rules`, the
//! builder) is held to the same checks, with the same kind of error.
