"""The participants of a study: who is enrolled and with what (``roster``), and withdrawing one of them from
everything the lakehouse holds (``withdrawal``). A participant is a listener: a pseudonym (``u_`` and a salted
hash of the local listener name, ``ingest.spotify.users``) on every row; the name itself is never stored."""
