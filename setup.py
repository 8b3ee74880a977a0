"""The one compiled part: passes over text in C for the text decoders and the raw capture
(firmware_bridge/_ctext.c). It is optional: where no C compiler or Python headers are at hand
the build goes on without it, and sotlog does the same with numpy, slower
(firmware_bridge/native.py)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("firmware_bridge._ctext", ["firmware_bridge/_ctext.c"],
                             optional=True)])
