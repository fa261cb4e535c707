"""What the study team records about its participants apart from their listening (``bronze.participant_*``)."""
