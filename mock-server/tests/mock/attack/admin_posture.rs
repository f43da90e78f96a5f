//! The admin API cannot be turned against its user: a browser page (an
//! `Origin`, a text/plain body) or a DNS-rebound name (a foreign `Host`) is
//! refused, and beyond loopback the API needs its token.
