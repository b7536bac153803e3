import enum


class StreamType(enum.Enum):
    PIPE = "pipe"
    DEVNULL = "devnull"
    STDOUT = "stdout"
