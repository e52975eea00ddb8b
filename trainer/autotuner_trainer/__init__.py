"""Edge AutoTuner student trainer (CenterNet MobileNetV3 from the @vladmandic/human tfjs graph)."""
