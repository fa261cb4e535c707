"""The track catalog with audio features: the Kaggle 114K-track CSV, or a generated demo catalog."""
