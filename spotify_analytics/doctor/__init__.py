"""``doctor``: check the lakehouse for what a crash, a kill or a full disk can leave behind, and repair what can be."""
