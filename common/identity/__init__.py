"""Node identity: key pairs, the root-signed registry, enrolment and revocation,
and the signatures on requests between neighbouring nodes."""
