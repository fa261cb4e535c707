"""The lakehouse server as its clients see it: the Spark Connect session (``client``) and which lakehouse a
server serves (``identity``)."""
