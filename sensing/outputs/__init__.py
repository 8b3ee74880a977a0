"""What leaves sotlog: exports (one module per format), plots, Lab Streaming Layer."""
