//! SigV4 edge cases: each answered as AWS answers it, and where AWS's
//! answer is not known, refused (the mock's README says which).
