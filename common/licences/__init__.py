"""Electronic licences (电子证照): issue, revoke, look up and verify offline.

A licence is the ledger subject ``licence:{licence_id}`` written only by the issuing
node: ``licence.issued`` (signed by that node, so the stored event bytes ARE the
licence's seal) and ``licence.revoked``. Identifiers follow GB/T 36904 with the
ISO/IEC 7064 MOD 37,36 check character. The ``licences`` table is a projection for
look-ups (无证明 at filing, screens); verification never trusts it and works from the
signed event and the registry alone, so any node can check a licence offline.
"""
