"""The publishing stage: hero renditions (crops and sizes), web encodings, embedded metadata (A1111
parameters, XMP/IPTC), the disclosure strip, alt text and Content Credentials (C2PA)."""
