version = "0.2.1"
